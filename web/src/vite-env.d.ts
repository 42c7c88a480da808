/// <reference types="vite/client" />

/** True in builds for the browser tests and the bench (`vite build --mode test`): main.ts installs test-hook.ts. */
declare const __MYTHO_TEST_HOOKS__: boolean

/*
 * The message validation moved to packages/schema (issue #18), so the API's dead-letter re-drive runs the very checks
 * ingest runs without importing a service; ingest keeps its import path.
 */
export { defaultLimits, validateMessage, type ValidationLimits, type ValidationResult } from '@mytho/schema'

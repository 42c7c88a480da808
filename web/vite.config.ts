import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'

const apiTarget = process.env['MAP_DEV_API'] ?? 'http://127.0.0.1:8080'

/**
 * The entry (src/boot.ts) opens the live link, then imports the map's code (src/main.ts) dynamically, which Vite
 * would fetch only then: a modulepreload in the head fetches and compiles it (and the chunks it imports) meanwhile.
 */
function preloadMap(): Plugin {
  return {
    name: 'mytho-preload-map',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        // the incident log (incidents.html) needs none of the map's code
        if (!ctx.filename.endsWith('/index.html')) return html
        const chunks = new Map(Object.values(ctx.bundle ?? {}).flatMap((c) => (c.type === 'chunk' ? [[c.fileName, c] as const] : [])))
        const main = [...chunks.values()].find((c) => c.facadeModuleId?.endsWith('/src/main.ts'))
        const files = new Set<string>()
        const add = (name: string) => {
          const c = chunks.get(name)
          if (!c || c.isEntry || files.has(name)) return
          files.add(name)
          c.imports.forEach(add)
        }
        if (main) add(main.fileName)
        // the entry's own imports are linked already
        return [...files]
          .filter((f) => !html.includes(f))
          .map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `./${f}` }, injectTo: 'head' as const }))
      },
    },
  }
}

/**
 * `npm run build -w @mytho/web` (root: `npm run build:web`) → web/dist, which the API serves. `--mode test` (the
 * browser tests and the bench, web/test/harness.ts buildWeb) also builds in the page's test hook (src/test-hook.ts:
 * window.__mytho, first-render stats, update lag); every other mode leaves it out of the bundle.
 */
export default defineConfig(({ mode }) => ({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  define: { __MYTHO_TEST_HOOKS__: JSON.stringify(mode === 'test') },
  resolve: { conditions: ['source'] },
  plugins: [preloadMap()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
    // the pages: the map; the incident log with its shift report (issue #17); administration, the history explorer
    // and the rejected messages (issue #18)
    rolldownOptions: {
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        incidents: fileURLToPath(new URL('incidents.html', import.meta.url)),
        admin: fileURLToPath(new URL('admin.html', import.meta.url)),
        history: fileURLToPath(new URL('history.html', import.meta.url)),
        deadLetters: fileURLToPath(new URL('dead-letters.html', import.meta.url)),
      },
    },
  },
  server: {
    proxy: {
      '/api': apiTarget,
      '/socket.io': { target: apiTarget, ws: true },
    },
  },
}))

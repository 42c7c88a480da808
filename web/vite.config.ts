import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const apiTarget = process.env['MAP_DEV_API'] ?? 'http://127.0.0.1:8080'

/**
 * `npm run build -w @mytho/web` → web/dist, which the API serves. web/public keeps the pre-map placeholder the
 * API falls back to when no build exists, so it is not copied into the build (publicDir: false).
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: false,
  resolve: { conditions: ['source'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 400 },
  server: {
    proxy: {
      '/api': apiTarget,
      '/socket.io': { target: apiTarget, ws: true },
    },
  },
})

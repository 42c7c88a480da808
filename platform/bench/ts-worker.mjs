// Node 20 does not run --import hooks before a worker's entry module, so the worker registers tsx itself.
import { register } from 'tsx/esm/api'
import { workerData } from 'node:worker_threads'

register()
await import(workerData.entry)

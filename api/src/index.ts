export * from './api.ts'
export * from './config.ts'
export * from './http-errors.ts'

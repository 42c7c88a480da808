export * from './config.ts'
export * from './logger.ts'
export * from './service.ts'
export * from './demo-secrets.ts'

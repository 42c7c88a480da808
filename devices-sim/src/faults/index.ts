export * from './kinds.ts'
export * from './plan.ts'
export * from './apply.ts'

import { assertSystemTools } from './system-tools.ts'

/** Runs once before any test file: stop at once, with the install command, when a system part is missing. */
export default function setup(): void {
  assertSystemTools()
}

/** Where the default model shipped in resources/ lives, in development and in a packaged app. */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DEFAULT_MODEL_FILE = 'stepwise-digits.onnx'

/**
 * Packaged (electron-builder): <resourcesPath>/app.asar.unpacked/resources/models/... ;
 * development and the CLI: <repo>/resources/models/... .
 */
export function defaultModelPath(resourcesPath?: string): string {
  if (resourcesPath) return join(resourcesPath, 'app.asar.unpacked', 'resources', 'models', DEFAULT_MODEL_FILE)
  return fileURLToPath(new URL(`../../../resources/models/${DEFAULT_MODEL_FILE}`, import.meta.url))
}

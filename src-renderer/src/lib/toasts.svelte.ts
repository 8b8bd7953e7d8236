/** Short messages in the corner: errors stay until dismissed or replaced, info fades. */
import type { ErrorData } from '../../../src-preload/contract'

export type ToastKind = 'error' | 'info'
/** A button on a toast (Undo): it runs `run` and closes the toast; the toast stays `ms`. */
export interface ToastAction {
  label: string
  run: () => void
  ms: number
}
export interface Toast {
  id: number
  kind: ToastKind
  message: string
  action?: ToastAction
}

const INFO_MS = 5000
const ERROR_MS = 12000
const MAX_SHOWN = 4

class Toasts {
  items = $state<Toast[]>([])
  #next = 1

  push(kind: ToastKind, message: string, action?: ToastAction) {
    const id = this.#next++
    this.items = [...this.items, { id, kind, message, ...(action && { action }) }].slice(-MAX_SHOWN)
    setTimeout(() => this.dismiss(id), action?.ms ?? (kind === 'error' ? ERROR_MS : INFO_MS))
  }
  info(message: string) {
    this.push('info', message)
  }
  error(e: ErrorData | string) {
    this.push('error', typeof e === 'string' ? e : e.message)
  }
  dismiss(id: number) {
    this.items = this.items.filter((t) => t.id !== id)
  }
}

export const toasts = new Toasts()

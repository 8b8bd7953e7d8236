/**
 * Electron security checklist, 17. Validate the sender of all IPC messages. The contract over Electron's
 * IPC: one ipcMain.handle a channel of the contract, each refusing any sender but our window's main frame
 * on our page, and the engine's events sent to the window on one channel, gathered. Payloads are checked by
 * the shell (the contract's schemas), errors cross as data.
 */
import { type BrowserWindow, ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'

import { badArgument, CHANNELS, EVENTS_CHANNEL, type Result, STOPPED_WITH_THEIR_PAGE } from '../../src-preload/contract'
import { batchEvents, type EventBatcher } from '../service/event-batch'

export interface IpcOptions {
  window: () => BrowserWindow | undefined
  isOurPage: (url: string) => boolean
  handle: (channel: string, payload: unknown) => Promise<Result<unknown>>
}

/** Is this request from our window's top frame, showing our page? (Not a subframe, not a navigated page.) */
function fromOurPage(event: IpcMainInvokeEvent, { window, isOurPage }: IpcOptions): boolean {
  const win = window()
  const frame = event.senderFrame
  return (
    !!win &&
    !win.isDestroyed() &&
    event.sender === win.webContents &&
    !!frame &&
    frame.parent === null &&
    isOurPage(frame.url)
  )
}

/**
 * Call `stop` if the page in `sender` goes before `until` settles: reloaded or sent elsewhere (not a change of
 * its #route), its renderer gone, or its webContents destroyed.
 */
async function unlessPageGoes<T>(sender: WebContents, until: Promise<T>, stop: () => void): Promise<T> {
  const navigated = (details: { isMainFrame: boolean; isSameDocument: boolean }) => {
    if (details.isMainFrame && !details.isSameDocument) stop()
  }
  sender.on('did-start-navigation', navigated)
  sender.on('render-process-gone', stop)
  sender.on('destroyed', stop)
  try {
    return await until
  } finally {
    sender.off('did-start-navigation', navigated)
    sender.off('render-process-gone', stop)
    sender.off('destroyed', stop)
  }
}

export function handleRequests(options: IpcOptions): void {
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, async (event, payload): Promise<Result<unknown>> => {
      if (!fromOurPage(event, options))
        return badArgument(`${channel}: refused (the request did not come from Stepwise's own page)`)
      try {
        const answer = options.handle(channel, payload)
        const stop = STOPPED_WITH_THEIR_PAGE[channel]
        if (stop) return await unlessPageGoes(event.sender, answer, () => void options.handle(stop, {}))
        return await answer
      } catch (e) {
        // The shell answers with Results; this is for the unforeseen (a settings file that cannot be written).
        return {
          ok: false,
          error: { code: 'runtime-error', message: `${channel}: ${e instanceof Error ? e.message : String(e)}` },
        }
      }
    })
  }
}

/**
 * The events to a window, gathered as the browser host gathers a page's (service/event-batch.ts): one IPC
 * message a batch on EVENTS_CHANNEL, which the preload hands out one event at a time. Its ArrayBuffers
 * cross by structured clone: between processes they are copied either way, so a MessagePort would
 * transfer nothing more. Closed with the window: nothing gathered is sent to a page that is gone.
 */
export function windowEvents(win: BrowserWindow): EventBatcher {
  const events = batchEvents((batch) => {
    if (!win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(EVENTS_CHANNEL, batch)
  })
  win.once('closed', () => events.close())
  return events
}

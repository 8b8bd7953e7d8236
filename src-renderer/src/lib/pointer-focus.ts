/**
 * A button pressed with the pointer does not take the keyboard focus (as buttons behave on macOS): Space
 * after clicking Generate looks closer, the page's Space, instead of pressing Generate again (nor does it
 * press again any toolbar button just clicked, Delete included). A field being edited is blurred first, so
 * that its change lands before the click does. Where the focus lives on purpose (tabs, the results' tiles
 * and the film strip's steps, draggable tiles) the browser's behaviour stays; the keyboard reaches every
 * button as before.
 */
export function keepFocusOffButtons(event: MouseEvent): void {
  if (event.button !== 0) return
  const button = event.target instanceof Element ? event.target.closest('button') : null
  if (!button || button.disabled || button.draggable || button.matches('[role=tab], [role=option]')) return
  const active = document.activeElement
  if (active instanceof HTMLElement && active.matches('input, select, textarea')) active.blur()
  event.preventDefault()
}

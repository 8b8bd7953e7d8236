/** How the window is laid out (lib/view.svelte.ts): the large view's zoom. */
import { beforeEach, describe, expect, it } from 'vitest'

import { loadRenderer, type Renderer } from './fake-api'

let r: Renderer
beforeEach(async () => {
  r = await loadRenderer()
})

describe('look closer', () => {
  it('opens at 1x (fit) and zooms by steps within 1x..16x', () => {
    r.view.zoom = 5
    r.view.openCloser()
    expect([r.view.closer, r.view.zoom]).toEqual([true, 1])
    for (let i = 0; i < 6; i++) r.view.zoomBy(2)
    expect(r.view.zoom).toBe(r.ZOOM_MAX)
    r.view.zoomBy(0.5)
    expect(r.view.zoom).toBe(8)
    for (let i = 0; i < 6; i++) r.view.zoomBy(0.5)
    expect(r.view.zoom).toBe(r.ZOOM_MIN)
  })
})

/** Permissions (Electron's security checklist, 5): every request refused, every check answered no. */
import { describe, expect, it, vi } from 'vitest'

import { refusePermissions } from '../../../src-main/app/permissions'
import { SessionMock } from './mock-electron'

vi.mock('electron', () => import('./mock-electron'))

const PERMISSIONS = ['media', 'notifications', 'geolocation', 'clipboard-read', 'clipboard-sanitized-write', 'hid']

describe('permissions', () => {
  it('refuses every permission request', () => {
    const session = new SessionMock()
    refusePermissions(session as never)
    expect(session.setPermissionRequestHandler).toHaveBeenCalledOnce()
    for (const permission of PERMISSIONS) {
      const callback = vi.fn()
      session.permissionRequestHandler!({}, permission, callback, {})
      expect(callback, permission).toHaveBeenCalledExactlyOnceWith(false)
    }
  })

  it('answers every permission check no, beside the request handler', () => {
    const session = new SessionMock()
    refusePermissions(session as never)
    expect(session.setPermissionCheckHandler).toHaveBeenCalledOnce()
    for (const permission of PERMISSIONS)
      expect(session.permissionCheckHandler!({}, permission, 'app://stepwise', {}), permission).toBe(false)
  })
})

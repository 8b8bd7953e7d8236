/**
 * Electron's security checklist, 5: the page needs no permission (camera, notifications, geolocation,
 * clipboard reads...), so every request is refused and every check answers no. Without a check handler
 * Chromium answers some checks (navigator.permissions.query and the like) with its own defaults.
 */
import type { Session } from 'electron'

export function refusePermissions(session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>) {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}

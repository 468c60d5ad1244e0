// A camera's last failure in the reader's language: the server names it with
// a stable code and parameters (host, HTTP status, content type, device)
// beside English words; the words are the fallback for a code this build
// does not know.
import type { CameraStatus } from '../api/types';
import type { Translate } from './kiosk';

export const CAMERA_ERRORS = [
  'connect_failed',
  'host_not_found',
  'timeout',
  'auth_failed',
  'not_found',
  'http_error',
  'bad_content',
  'not_http',
  'stream_ended',
  'stream_broken',
  'decode_failed',
  'frame_too_large',
  'unsupported',
  'permission_denied',
  'device_error',
  'bad_config',
  'failed',
];

export function cameraError(t: Translate, st: Pick<CameraStatus, 'error' | 'last_error'>): string {
  const e = st.error;
  if (!e || !CAMERA_ERRORS.includes(e.code)) return st.last_error ?? '';
  const params: Record<string, string> = { host: '', device: '', type: '', status: '' };
  for (const [k, v] of Object.entries(e.params ?? {})) params[k] = String(v);
  return t(`cameras.errors.${e.code}`, params);
}

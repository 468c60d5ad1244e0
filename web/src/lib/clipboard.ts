// Copy text to the clipboard. The Clipboard API exists only in a secure
// context (HTTPS or localhost): a school's server opened as
// http://escuela.lan has none, so the old way (a selected textarea and
// execCommand('copy')) is tried there. False when neither worked, so that
// the page can say so instead of failing silently. `from`: the element
// the copy was asked from; inside a modal dialog everything outside it is
// inert, so the textarea goes into that dialog.
export async function copyText(text: string, from?: Element | null): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* refused: try the old way */
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  (from?.closest('dialog') ?? document.body).appendChild(area);
  area.focus();
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

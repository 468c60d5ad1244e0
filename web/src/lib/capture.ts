// A short capture from a live <video>: a few JPEG frames a moment apart, each
// scaled down to at most maxWidth pixels (what recognition needs, and small
// enough to send from a phone). Self check-in sends them for a 1:1 check.

/** One JPEG of the video's current picture, or null when it has none yet. */
export async function grabFrame(video: HTMLVideoElement, maxWidth: number, quality = 0.9): Promise<Blob | null> {
  if (!video.videoWidth || !video.videoHeight) return null;
  const scale = Math.min(1, maxWidth / video.videoWidth);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
}

/** `count` frames, `gapMs` apart (frames the video could not give are skipped). */
export async function captureFrames(video: HTMLVideoElement, count: number, gapMs: number, maxWidth: number): Promise<Blob[]> {
  const out: Blob[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
    const b = await grabFrame(video, maxWidth);
    if (b) out.push(b);
  }
  return out;
}

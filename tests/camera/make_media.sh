#!/bin/sh
# make_media.sh OUTDIR — test media for the camera tests, made from the shared
# test photos with Debian's ffmpeg (never stored in the repository):
#   OUTDIR/frames/fNN.jpg  six 320x240 JPEGs (faces letterboxed)
#   OUTDIR/clip.mkv        MPEG-4 video, 320x240, 10 fps, 30 frames
#   OUTDIR/nopicture.ts    the same as MPEG-TS without its MPEG-4 headers (the
#                          remove_extra bitstream filter): every packet arrives
#                          and none decodes
#   OUTDIR/clip.ts         the clip as MPEG-TS with its headers in the stream
#                          (a live stream a player can join)
set -eu
out=$1
faces=${ROLLCALL_TESTDATA:?ROLLCALL_TESTDATA is not set}/faces
mkdir -p "$out/frames"
i=0
for f in "$faces"/id/deepface_angelina/4.jpg "$faces"/id/deepface_angelina/5.jpg \
         "$faces"/id/deepface_angelina/8.jpg "$faces"/id/deepface_person01/1.jpg \
         "$faces"/id/deepface_person02/1.jpg "$faces"/id/deepface_person03/1.jpg; do
  i=$((i + 1))
  ffmpeg -nostdin -loglevel error -y -i "$f" \
    -vf "scale=320:240:force_original_aspect_ratio=decrease,pad=320:240:(ow-iw)/2:(oh-ih)/2" \
    -q:v 4 "$out/frames/f0$i.jpg"
done
ffmpeg -nostdin -loglevel error -y -framerate 10 -stream_loop 4 -i "$out/frames/f%02d.jpg" \
  -c:v mpeg4 -q:v 5 "$out/clip.mkv"
ffmpeg -nostdin -loglevel error -y -i "$out/clip.mkv" -c:v copy -bsf:v remove_extra=freq=all \
  -f mpegts "$out/nopicture.ts"
ffmpeg -nostdin -loglevel error -y -framerate 10 -stream_loop 4 -i "$out/frames/f%02d.jpg" \
  -c:v mpeg4 -q:v 5 -f mpegts "$out/clip.ts"

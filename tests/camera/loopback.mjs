// loopback.mjs — what the camera stand-ins (mjpeg_server.mjs, rtsp_server.mjs)
// share: their "--name value" arguments, and serving on loopback until told
// to stop.
//
// A stand-in prints "listening PORT" once ready and calls its stop() on
// SIGTERM, SIGINT and, with "--stdin watch", when stdin closes, so that a
// test that crashes (and with it the pipe to the stand-in) does not leave
// servers behind.

/** The "--name value" pairs of argv; prints `usage` and exits 2 without `required`. */
export function parseArgs(required, usage) {
  const args = Object.fromEntries(
    process.argv.slice(2).reduce((acc, a, i, all) => {
      if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
      return acc;
    }, []),
  );
  if (!args[required]) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return args;
}

/** Listen on 127.0.0.1:--port (0: any), announce the port, and run stop() when told to. */
export function serveLoopback(server, args, stop) {
  server.listen(Number(args.port ?? 0), '127.0.0.1', () => {
    console.log(`listening ${server.address().port}`);
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (args.stdin === 'watch') {
    process.stdin.on('end', stop);
    process.stdin.resume();
  }
}

// The CLI's first import, so it runs before anything else loads: on a Node.js below the supported
// floor, a clear message for the operator instead of a failure somewhere inside.
const FLOOR = 24;

if (Number(process.versions.node.split('.')[0]) < FLOOR) {
  process.stderr.write(
    `fraudwall needs Node.js ${FLOOR} or newer; this is Node.js ${process.version} (${process.execPath}).\n` +
      `Install Node.js ${FLOOR} LTS, or run it through npm in the fraudwall directory, on the Node ${FLOOR} that npm ci installs there:\n` +
      `  npm start    or    npm exec -- node dist/cli.js COMMAND ...\n`,
  );
  process.exit(1);
}

export {};

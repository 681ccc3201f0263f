// Uploads files to Pictor's /files/ with tus-js-client, the tus project's
// own client, as a browser or a Node service would. Driven by
// e2e/stack_tus_test.go: one JSON argument says what to do, one JSON line
// on stdout says what happened.
//
//   node upload.mjs '{"endpoint": "http://127.0.0.1:8080/files/",
//     "token": "...", "files": ["a.jpg", "b.jpg"], "chunkSize": 1048576,
//     "abortAt": 12582912, "uploadUrls": ["http://…/files/<id>"]}'
//
// Every file is uploaded at the same time. With abortAt, each upload stalls
// once that many bytes of the file are handed to the client, in the middle
// of a chunk, and is then aborted: its connection to Nginx is cut with a
// partly sent PATCH body. Its URL is reported instead of a key; uploadUrls resumes uploads from a
// run like that: the client asks the server for the offset (HEAD) and sends
// the rest. The result of each upload lists the HTTP exchanges it saw.
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { basename } from 'node:path';
import * as tus from 'tus-js-client';

const plan = JSON.parse(process.argv[2]);

function one(file, i) {
  const size = statSync(file).size;
  const result = { file, size, exchanges: [] };
  return new Promise((resolve) => {
    let fileReader = null;
    if (plan.abortAt) {
      fileReader = stallingReader(file, size, plan.abortAt, () => {
        // Long enough for Nginx to pass on what it got; then abort()
        // destroys the request in flight.
        setTimeout(() => {
          result.url = upload.url;
          result.abortedAfter = plan.abortAt;
          upload.abort().then(() => resolve(result));
        }, 500);
      });
    }
    // A file stream, as a Node service would pass: tus-js-client reads each
    // chunk from the file as it sends it.
    const data = createReadStream(file);
    const upload = new tus.Upload(data, {
      ...(fileReader ? { fileReader } : {}),
      endpoint: plan.endpoint,
      uploadUrl: plan.uploadUrls ? plan.uploadUrls[i] : null,
      chunkSize: plan.chunkSize,
      // Retries are the client's business on a bad network; here a failure
      // must show, so only one quick retry (tus-js-client retries 5xx, 409
      // and 423, never other 4xx).
      retryDelays: [200],
      headers: { Authorization: `Bearer ${plan.token}` },
      metadata: { filename: basename(file), filetype: 'image/jpeg' },
      storeFingerprintForResuming: false,
      onAfterResponse(req, res) {
        result.exchanges.push({
          method: req.getMethod(),
          status: res.getStatus(),
          offset: res.getHeader('Upload-Offset') ?? null,
          key: res.getHeader('Pictor-Key') ?? null,
        });
      },
      onSuccess(payload) {
        result.url = upload.url;
        result.key = payload.lastResponse.getHeader('Pictor-Key') ?? null;
        resolve(result);
      },
      onError(err) {
        result.error = String(err.message ?? err).split('\n')[0];
        const res = err.originalResponse;
        if (res) {
          result.status = res.getStatus();
          result.body = res.getBody();
        }
        resolve(result);
      },
    });
    upload.start();
  });
}

// stallingReader is a tus-js-client fileReader over the file whose chunks
// are streams of the file, as its own; the chunk that holds byte n sends
// the bytes before n, in 64 KiB pieces, and then nothing more: the client
// is left in the middle of a PATCH body, like a phone whose network just
// went away.
function stallingReader(file, size, n, stalled) {
  return {
    openFile: async () => ({
      size,
      slice(start, end) {
        end = Math.min(end, size);
        let body;
        if (end <= n) {
          body = createReadStream(file, { start, end: end - 1 });
        } else {
          const fd = openSync(file, 'r');
          let pos = start;
          body = new Readable({
            read() {
              const want = Math.min(64 << 10, n - pos);
              if (want <= 0) {
                closeSync(fd);
                stalled();
                return;
              }
              const buf = Buffer.alloc(want);
              pos += readSync(fd, buf, 0, want, pos);
              this.push(buf);
            },
          });
        }
        body.size = end - start;
        return Promise.resolve({ value: body, done: end >= size });
      },
      close() {},
    }),
  };
}

const results = await Promise.all(plan.files.map(one));
process.stdout.write(JSON.stringify(results) + '\n');

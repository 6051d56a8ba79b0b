// The progress page: plain browser JavaScript, no build step and no CDN, so it works wherever the API does.
// Live events come from Web PubSub (negotiated per job) and fall back to the SSE stream; both carry the same
// per-job sequence numbers, so the page applies each event once, in order, whichever way it arrived.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const terminal = new Set(['complete', 'cancelled', 'error']);
  const storageKey = 'usa.credential';
  let credential = sessionStorage.getItem(storageKey) || '';
  let watch = null;

  const authHeaders = (extra) => Object.assign({ authorization: 'Bearer ' + credential }, extra || {});
  const announce = (text) => {
    $('announcer').textContent = text;
  };
  const money = (usd) => '$' + Number(usd || 0).toFixed(4);

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: authHeaders(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!response.ok) {
      const detail = json && json.detail ? json.detail : response.status + ' ' + response.statusText;
      throw new Error(detail);
    }
    return json;
  }

  // ---- sign-in and catalog ----
  async function loadCatalog() {
    const list = $('iteration-list');
    try {
      const catalog = await api(
        'GET',
        '/api/v1/iterations?productType=' + encodeURIComponent($('product-type').value),
      );
      list.replaceChildren(
        ...catalog.items.map((item) => {
          const label = document.createElement('label');
          const box = document.createElement('input');
          box.type = 'checkbox';
          box.name = 'iteration';
          box.value = item.id;
          label.append(box, document.createTextNode(item.name));
          label.title = item.description;
          return label;
        }),
      );
      $('signin-status').textContent = 'Signed in.';
    } catch (error) {
      $('signin-status').textContent = 'Sign-in failed: ' + error.message;
    }
  }

  $('signin').addEventListener('submit', (event) => {
    event.preventDefault();
    credential = $('credential').value.trim();
    sessionStorage.setItem(storageKey, credential);
    void loadCatalog();
  });
  $('product-type').addEventListener('change', () => {
    if (credential) void loadCatalog();
  });
  if (credential) {
    $('credential').value = credential;
    void loadCatalog();
  }

  // ---- story input ----
  const frontMatter = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/;
  $('story-file').addEventListener('change', async () => {
    const file = $('story-file').files[0];
    if (!file) return;
    let text = await file.text();
    const match = frontMatter.exec(text);
    if (match) {
      const type = /^productType:\s*([\w-]+)\s*$/m.exec(match[1]);
      if (type && [...$('product-type').options].some((option) => option.value === type[1])) {
        $('product-type').value = type[1];
        if (credential) void loadCatalog();
      }
      text = text.slice(match[0].length);
    }
    $('story').value = text.trim();
  });

  // ---- mockups: each file gets an upload URL, goes straight to Blob Storage, and is checked there ----
  const mockups = [];
  const mockupTypes = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    pdf: 'application/pdf',
    svg: 'image/svg+xml',
  };

  function mockupRow(file) {
    const item = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = file.name + ' ';
    const status = document.createElement('span');
    status.className = 'upload-status';
    item.append(name, status);
    $('mockup-list').append(item);
    return (state, text) => {
      item.dataset.status = state;
      status.textContent = text;
    };
  }

  async function waitForCheck(uploadId) {
    for (let delay = 250; ; delay = Math.min(delay * 1.5, 2000)) {
      const upload = await api('GET', '/api/v1/uploads/' + uploadId);
      if (upload.status !== 'pending') return upload;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async function addMockup(file) {
    const show = mockupRow(file);
    const entry = { uploadId: null, state: 'pending' };
    mockups.push(entry);
    try {
      const extension = (file.name.split('.').pop() || '').toLowerCase();
      const contentType = file.type || mockupTypes[extension] || 'application/octet-stream';
      show('pending', 'asking for an upload URL…');
      const ticket = await api('POST', '/api/v1/uploads', {
        fileName: file.name,
        contentType,
        sizeBytes: file.size,
      });
      entry.uploadId = ticket.uploadId;
      show('pending', 'uploading…');
      const put = await fetch(ticket.uploadUrl, { method: 'PUT', headers: ticket.headers, body: file });
      if (!put.ok) throw new Error('the upload was refused (' + put.status + ')');
      show('pending', 'checking…');
      const upload = await waitForCheck(ticket.uploadId);
      entry.state = upload.status;
      if (upload.status === 'ready') {
        const facts = upload.pages
          ? upload.pages + ' page(s)'
          : upload.width
            ? upload.width + '×' + upload.height + ' px'
            : '';
        show('ready', 'ready' + (facts ? ' · ' + facts : ''));
        announce(file.name + ' is ready');
      } else {
        show('rejected', 'rejected: ' + upload.detail + ' (' + upload.reason + ')');
        announce(file.name + ' was rejected');
      }
    } catch (error) {
      entry.state = 'rejected';
      show('rejected', 'rejected: ' + error.message);
      announce(file.name + ' was rejected');
    }
  }

  const addMockups = (files) => [...files].forEach((file) => void addMockup(file));
  $('mockup-files').addEventListener('change', () => {
    addMockups($('mockup-files').files);
    $('mockup-files').value = '';
  });
  const drop = $('mockup-drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    addMockups(event.dataTransfer.files);
  });

  // ---- job progress ----
  function stepFor(iteration) {
    let item = document.querySelector('#steps li[data-iteration="' + CSS.escape(iteration) + '"]');
    if (!item) {
      item = document.createElement('li');
      item.dataset.iteration = iteration;
      item.dataset.status = 'queued';
      const title = document.createElement('strong');
      title.textContent = iteration;
      const state = document.createElement('span');
      state.className = 'state';
      state.textContent = ' queued';
      const cost = document.createElement('span');
      cost.className = 'cost muted';
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.textContent = 'Model output';
      const pre = document.createElement('pre');
      details.append(summary, pre);
      item.append(title, state, cost, details);
      $('steps').append(item);
    }
    return item;
  }

  function setStep(iteration, status, text) {
    const item = stepFor(iteration);
    item.dataset.status = status;
    item.querySelector('.state').textContent = ' ' + text;
  }

  function setJobStatus(status) {
    $('job-status').textContent = status;
    $('job-status').dataset.status = status;
    const done = ['completed', 'cancelled', 'failed'].includes(status);
    $('cancel').disabled = done;
    $('start').disabled = !done && status !== '';
  }

  function showResult(markdown) {
    $('result').hidden = false;
    $('result-markdown').value = markdown;
  }

  function apply(event, data) {
    const w = watch;
    if (!w) return;
    switch (event) {
      case 'start':
        data.iterations.forEach((id) => stepFor(id));
        setJobStatus('running');
        break;
      case 'iteration:start':
        setStep(data.iteration, 'running', 'running (' + (data.index + 1) + ' of ' + data.total + ')');
        announce(data.iteration + ' started');
        break;
      case 'iteration:progress': {
        if (stepFor(data.iteration).dataset.status === 'waiting')
          setStep(data.iteration, 'running', 'running');
        const pre = stepFor(data.iteration).querySelector('pre');
        pre.textContent = (pre.textContent + data.chunk).slice(-4000);
        break;
      }
      case 'iteration:waiting':
        // Its next text or its completion shows that the wait is over.
        setStep(data.iteration, 'waiting', 'waiting: ' + data.message);
        announce(
          data.iteration + ' is waiting for the ' + (data.reason === 'budget' ? 'budget' : 'token limit'),
        );
        break;
      case 'iteration:complete':
        w.cost += data.usage.costUsd;
        setStep(data.iteration, 'complete', 'complete');
        stepFor(data.iteration).querySelector('.cost').textContent =
          ' · ' + money(data.usage.costUsd) + ' · ' + (data.durationMs / 1000).toFixed(1) + ' s';
        $('total-cost').textContent = money(w.cost);
        announce(data.iteration + ' complete, ' + money(data.usage.costUsd));
        break;
      case 'mockup:analyzing':
        setStep('mockup ' + data.fileName, 'running', 'reading');
        announce('Reading mockup ' + data.fileName);
        break;
      case 'mockup:complete':
        setStep('mockup ' + data.fileName, 'complete', 'read');
        break;
      case 'awaiting_approval':
        setJobStatus('awaiting approval');
        $('approval').hidden = false;
        $('approval-iteration').textContent = data.iteration;
        $('approval-story').value = data.story;
        w.approvalStory = data.story;
        announce('Waiting for your approval of ' + data.iteration);
        $('approval-story').focus();
        break;
      case 'complete':
        setJobStatus('completed');
        $('total-cost').textContent = money(data.costUsd);
        showResult(data.story);
        announce('Job complete. Total cost ' + money(data.costUsd));
        break;
      case 'cancelled':
        setJobStatus('cancelled');
        announce('Job cancelled');
        void api('GET', '/api/v1/jobs/' + w.jobId).then(
          (job) => {
            if (job.result) showResult(job.result.story);
          },
          () => undefined,
        );
        break;
      case 'error':
        setJobStatus('failed');
        $('form-status').textContent = 'The job failed: ' + data.message;
        announce('Job failed');
        break;
      default:
        break;
    }
  }

  /** Applies the next events in order; anything already seen (or arriving twice) is ignored. */
  function accept(w, seq, event, data) {
    if (w !== watch || seq <= w.lastSeq) return;
    if (seq !== w.lastSeq + 1) return false;
    w.lastSeq = seq;
    apply(event, data);
    if (terminal.has(event)) w.finished = true;
    return true;
  }

  /** Reads the SSE stream with the bearer credential (EventSource cannot send one); resolves at its end. */
  async function readStream(w, follow) {
    const response = await fetch('/api/v1/jobs/' + w.jobId + '/stream' + (follow ? '' : '?follow=false'), {
      headers: authHeaders({ 'last-event-id': String(w.lastSeq) }),
      signal: w.abort.signal,
    });
    if (!response.ok || !response.body) throw new Error('stream answered ' + response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id = null;
        let name = 'message';
        const lines = [];
        frame.split('\n').forEach((line) => {
          if (line.startsWith('id:')) id = Number(line.slice(3).trim());
          else if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) lines.push(line.slice(5).replace(/^ /, ''));
        });
        if (id !== null && lines.length) accept(w, id, name, JSON.parse(lines.join('\n')));
      }
    }
  }

  async function followSse(w) {
    $('transport').textContent = 'live via SSE';
    while (!w.finished && w === watch) {
      try {
        await readStream(w, true);
      } catch {
        if (w.abort.signal.aborted) return;
      }
      if (!w.finished) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** Web PubSub: join the job's group, catch up from the log, then apply pushed events, catching up on gaps. */
  async function followPubSub(w) {
    const negotiated = await api('POST', '/api/v1/jobs/' + w.jobId + '/negotiate');
    const socket = new WebSocket(negotiated.url, 'json.webpubsub.azure.v1');
    w.socket = socket;
    const queue = [];
    let draining = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      try {
        while (queue.length && w === watch) {
          queue.sort((a, b) => a.seq - b.seq);
          const next = queue[0];
          if (next.seq <= w.lastSeq) {
            queue.shift();
            continue;
          }
          if (next.seq === w.lastSeq + 1) {
            queue.shift();
            accept(w, next.seq, next.event, next.data);
            continue;
          }
          await readStream(w, false);
          if (queue[0] && queue[0].seq > w.lastSeq + 1) break;
        }
      } finally {
        draining = false;
      }
      if (w.finished) socket.close();
    };
    await new Promise((resolve, reject) => {
      socket.onerror = () => reject(new Error('Web PubSub connection failed'));
      socket.onclose = () => reject(new Error('Web PubSub connection closed'));
      socket.onmessage = (message) => {
        const frame = JSON.parse(message.data);
        if (frame.type === 'system' && frame.event === 'connected') {
          socket.send(JSON.stringify({ type: 'joinGroup', group: negotiated.group, ackId: 1 }));
        } else if (frame.type === 'ack' && frame.ackId === 1) {
          if (frame.success) resolve();
          else reject(new Error('could not join the job group'));
        } else if (frame.type === 'message' && frame.data && typeof frame.data.seq === 'number') {
          queue.push(frame.data);
          void drain();
        }
      };
    });
    $('transport').textContent = 'live via Web PubSub';
    await readStream(w, false);
    void drain();
    await new Promise((resolve) => {
      if (w.finished) {
        resolve();
        return;
      }
      socket.onclose = () => resolve();
    });
    if (!w.finished && w === watch) await followSse(w);
  }

  function startWatching(jobId) {
    if (watch) {
      watch.abort.abort();
      if (watch.socket) watch.socket.close();
    }
    const w = { jobId, lastSeq: 0, cost: 0, finished: false, abort: new AbortController(), socket: null };
    watch = w;
    $('steps').replaceChildren();
    $('progress').hidden = false;
    $('result').hidden = true;
    $('approval').hidden = true;
    $('total-cost').textContent = money(0);
    setJobStatus('queued');
    followPubSub(w).catch(() => {
      if (w.socket) w.socket.close();
      return followSse(w);
    });
  }

  $('job-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const iterations = [...document.querySelectorAll('input[name=iteration]:checked')].map(
      (box) => box.value,
    );
    const body = { story: $('story').value, productType: $('product-type').value, mode: $('mode').value };
    if (iterations.length) body.iterations = iterations;
    if (mockups.some((entry) => entry.state === 'pending')) {
      $('form-status').textContent = 'Wait until every mockup is checked.';
      return;
    }
    const ready = mockups.filter((entry) => entry.state === 'ready').map((entry) => entry.uploadId);
    if (ready.length) body.uploads = ready;
    $('form-status').textContent = 'Starting…';
    try {
      const job = await api('POST', '/api/v1/jobs', body);
      $('form-status').textContent = 'Job ' + job.id + ' started.';
      startWatching(job.id);
      $('progress-title').focus();
    } catch (error) {
      $('form-status').textContent = 'Could not start: ' + error.message;
    }
  });

  $('cancel').addEventListener('click', async () => {
    if (!watch) return;
    try {
      await api('DELETE', '/api/v1/jobs/' + watch.jobId);
      announce('Cancelling…');
    } catch (error) {
      $('form-status').textContent = 'Could not cancel: ' + error.message;
    }
  });

  document.querySelectorAll('#approval button[data-decision]').forEach((button) => {
    button.addEventListener('click', async () => {
      if (!watch) return;
      const body = { decision: button.dataset.decision };
      const edited = $('approval-story').value;
      if (body.decision === 'continue' && edited !== watch.approvalStory) body.story = edited;
      try {
        await api('POST', '/api/v1/jobs/' + watch.jobId + '/approval', body);
        $('approval').hidden = true;
        setJobStatus('running');
      } catch (error) {
        $('form-status').textContent = 'Could not send the decision: ' + error.message;
      }
    });
  });

  $('copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('result-markdown').value);
      $('result-status').textContent = 'Copied.';
    } catch {
      $('result-markdown').select();
      $('result-status').textContent = 'Select-all done: press Ctrl+C to copy.';
    }
  });

  $('download').addEventListener('click', () => {
    const blob = new Blob([$('result-markdown').value], { type: 'text/markdown' });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = 'story-' + (watch ? watch.jobId : 'result') + '.md';
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });

  $('progress-title').tabIndex = -1;
})();

// imv admin page: lists rooms and messages and deletes them through the admin REST routes.
// A plain script file (served by packages/server/src/http/admin.ts) because CSP allows no inline script.
const $ = (id) => document.getElementById(id);
const status = (text) => ($('status').textContent = text);
let token = sessionStorage.getItem('imv-admin-token') ?? '';
let currentRoom;

async function api(method, path) {
  const response = await fetch(path, { method, headers: { Authorization: `Bearer ${token}` } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok)
    throw new Error(`${body.code ?? response.status}: ${body.message ?? response.statusText}`);
  return body;
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text;
  row.append(td);
  return td;
}

function button(label, accessibleName, onClick, danger = false) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.setAttribute('aria-label', accessibleName);
  if (danger) b.className = 'danger';
  b.addEventListener('click', onClick);
  return b;
}

async function showRooms() {
  const { rooms } = await api('GET', '/api/admin/rooms');
  const body = $('rooms');
  body.replaceChildren();
  for (const r of rooms) {
    const row = document.createElement('tr');
    cell(row, r.room);
    cell(row, String(r.messageCount));
    cell(row, r.keyed ? 'yes' : 'no');
    cell(row, String(r.online));
    cell(row, '').append(
      button('Messages', `Messages of room ${r.room}`, () => run(() => showMessages(r.room))),
      button(
        'Delete room',
        `Delete room ${r.room} with all its messages`,
        () => run(() => deleteRoom(r.room)),
        true,
      ),
    );
    body.append(row);
  }
  $('rooms-section').hidden = false;
  status(`${rooms.length} room(s).`);
}

async function showMessages(room) {
  currentRoom = room;
  const { messages } = await api('GET', `/api/admin/rooms/${encodeURIComponent(room)}/messages`);
  $('messages-title').textContent = `Messages in ${room}`;
  const body = $('messages');
  body.replaceChildren();
  for (const m of messages.slice().reverse()) {
    const row = document.createElement('tr');
    cell(row, String(m.id));
    cell(row, m.senderName);
    cell(row, new Date(m.startedAt).toLocaleString());
    cell(row, `${(m.durationMs / 1000).toFixed(1)} s`);
    cell(row, m.encrypted ? `${m.status}, encrypted` : m.status);
    cell(row, '').append(
      button(
        'Delete',
        `Delete message ${m.id} from ${m.senderName}`,
        () => run(() => deleteMessage(room, m.id)),
        true,
      ),
    );
    body.append(row);
  }
  $('messages-section').hidden = false;
  status(`${messages.length} message(s) in ${room}.`);
}

async function deleteMessage(room, id) {
  if (!confirm(`Delete message ${id} in ${room}?`)) return;
  await api('DELETE', `/api/rooms/${encodeURIComponent(room)}/messages/${id}`);
  await showMessages(room);
  status(`Message ${id} deleted.`);
}

async function deleteRoom(room) {
  if (!confirm(`Delete room ${room}, all its messages and its key?`)) return;
  const { deletedMessages } = await api('DELETE', `/api/rooms/${encodeURIComponent(room)}`);
  if (currentRoom === room) $('messages-section').hidden = true;
  await showRooms();
  status(`Room ${room} deleted (${deletedMessages} message(s)).`);
}

async function run(action) {
  try {
    await action();
  } catch (err) {
    status(err.message);
  }
}

$('token').value = token;
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('imv-admin-token', token);
  void run(showRooms);
});

// Compiled by `tsc --noEmit` (test/types.test.js): the declarations describe the module
// as an application uses it, and misuse fails to compile.
import { Switchboard, SwitchboardError, describeClose, backoff, type Chat, type Status } from "../switchboard.js";

const sb = new Switchboard({ url: "ws://127.0.0.1:8080/ws", token: async () => "jwt", maxQueue: 10 });
sb.on("chat", (m: Chat) => console.log(m.room, m.sender, m.content, m.offset.toFixed()));
sb.on("status", (s: Status) => { if (s.state === "closed" && s.refused) console.log(s.why); });
sb.on("rejoined", (r) => console.log(r.room, r.recovered, r.error?.code));
sb.connect();

async function use(): Promise<void> {
  const j = await sb.join("lobby");
  if ("recovered" in j) console.log(j.recovered, j.epoch);
  const ack = await sb.chat("lobby", "hi", { timeout: 5000 });
  console.log(ack.id, ack.offset);
  const members: string[] = await sb.members("lobby");
  const { users, total } = await sb.online();
  console.log(members, users, total, sb.queued, sb.position("lobby")?.epoch);
  await sb.event("lobby", "typing");
  try { await sb.rpc("getProfile", { id: 1 }); } catch (e) { if (e instanceof SwitchboardError) console.log(e.code); }
  console.log(describeClose(4009), backoff(2, 500, 10000));
  // @ts-expect-error chat needs content
  await sb.chat("lobby");
  // @ts-expect-error status has no such state
  sb.on("status", (s: Status) => s.state === "gone");
}
const fallback = new Switchboard({ transport: "sse" });
console.log(fallback.transport === "sse");
// @ts-expect-error no such transport
new Switchboard({ transport: "polling" });
void use;

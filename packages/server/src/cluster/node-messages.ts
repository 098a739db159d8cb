import { liveStreamSchema, memberSchema } from '@imv/protocol';
import { z } from 'zod';

/** One room as a node sees it: its own members and live streams there. */
export const nodeRoomSchema = z.object({
  members: z.array(memberSchema),
  live: z.array(liveStreamSchema),
});
export type NodeRoom = z.infer<typeof nodeRoomSchema>;

/**
 * Node-to-node messages on the `<prefix>.nodes` subject (JSON text; a few per second per node, never
 * per frame). A heartbeat carries the node's whole room state, so a node that joins late or missed a
 * change has the full picture after one interval.
 */
export const nodeMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('heartbeat'),
    node: z.string(),
    /** Where clients reach the node (http and https, each LAN address). */
    urls: z.array(z.string()),
    connections: z.number().int().min(0),
    startedAt: z.number(),
    /** Rooms with members or live streams on the node. */
    rooms: z.record(z.string(), nodeRoomSchema),
  }),
  /** A room's state changed on the node (sent at once, without waiting for the heartbeat). */
  z.object({ type: z.literal('room'), node: z.string(), room: z.string(), state: nodeRoomSchema }),
  /** The node is shutting down; forget it now rather than at its heartbeat timeout. */
  z.object({ type: z.literal('bye'), node: z.string() }),
]);
export type NodeMessage = z.infer<typeof nodeMessageSchema>;

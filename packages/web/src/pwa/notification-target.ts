/**
 * What a notification carries (src/ui/notify.ts shows it, notification-click.ts in the service
 * worker opens it): the room page to open and the message to show.
 */
export interface NotificationTarget {
  url: string;
  room: string;
  messageId?: number;
}

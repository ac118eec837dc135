/**
 * The small part of janode 1.8 that gateway/ uses. janode ships no types; these mirror
 * node_modules/janode/src/{janode,connection,session,handle}.js and plugins/videoroom-plugin.js.
 */
declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  export interface JanodeConnection extends EventEmitter {
    create(kaIntervalSecs?: number): Promise<JanodeSession>;
    close(): Promise<void>;
  }

  export interface JanodeSession extends EventEmitter {
    readonly id: number;
    attach<H extends JanodeHandle>(plugin: { id: string; Handle: new (...args: never[]) => H }): Promise<H>;
    destroy(): Promise<void>;
  }

  /** A raw Janus message, as `handle.message()` resolves it. */
  export type JanusMessage = { janus: string; plugindata?: { plugin: string; data: Record<string, unknown> }; jsep?: unknown };

  export interface JanodeHandle extends EventEmitter {
    readonly id: number;
    /** The session the handle was attached (or adopted) in. */
    readonly session: JanodeSession;
    /** Rejects with an Error whose `_code` is the plugin error code (e.g. 427). */
    message(body: Record<string, unknown>, jsep?: unknown): Promise<JanusMessage>;
    trickle(candidate: Record<string, unknown> | null): Promise<unknown>;
    trickleComplete(): Promise<unknown>;
    hangup(): Promise<unknown>;
    /** Never rejects: janode logs detach errors itself. */
    detach(): Promise<void>;
  }

  interface JanodeLogger {
    debug(...args: unknown[]): void;
    verbose(...args: unknown[]): void;
    info(...args: unknown[]): void;
    warning(...args: unknown[]): void;
    error(...args: unknown[]): void;
    setLevel(level: string): string;
  }

  const Janode: {
    connect(config: {
      address: { url: string; apisecret?: string } | Array<{ url: string; apisecret?: string }>;
      retry_time_secs?: number;
      max_retries?: number;
      is_admin?: boolean;
    }): Promise<JanodeConnection>;
    Logger: JanodeLogger;
    EVENT: {
      CONNECTION_CLOSED: 'connection_closed';
      CONNECTION_ERROR: 'connection_error';
      SESSION_DESTROYED: 'session_destroyed';
      HANDLE_DETACHED: 'handle_detached';
      HANDLE_HANGUP: 'handle_hangup';
      HANDLE_WEBRTCUP: 'handle_webrtcup';
      HANDLE_ICE_FAILED: 'handle_ice_failed';
      HANDLE_MEDIA: 'handle_media';
      HANDLE_SLOWLINK: 'handle_slowlink';
      HANDLE_TRICKLE: 'handle_trickle';
    };
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle } from 'janode';

  export type JanodeJsep = { type: 'offer' | 'answer'; sdp: string };
  export type JanodePublisher = { feed: number; display?: string };

  export interface VideoRoomHandle extends JanodeHandle {
    joinPublisher(opts: { room: number; display?: string }): Promise<{
      room: number;
      feed: number;
      private_id: number;
      publishers: JanodePublisher[];
    }>;
    /** `joinandconfigure`: join as publisher and publish the offer in one request. */
    joinConfigurePublisher(opts: { room: number; display?: string; audio?: boolean; video?: boolean; jsep: JanodeJsep }): Promise<{
      room: number;
      feed: number;
      private_id: number;
      publishers: JanodePublisher[];
      jsep?: JanodeJsep;
    }>;
    configure(opts: { audio?: boolean; video?: boolean; jsep?: JanodeJsep }): Promise<{ jsep?: JanodeJsep }>;
    joinSubscriber(opts: {
      room: number;
      streams: Array<{ feed: number; mid?: string }>;
      private_id?: number;
    }): Promise<{ jsep?: JanodeJsep }>;
    start(opts: { jsep: JanodeJsep }): Promise<unknown>;
  }

  const VideoRoomPlugin: {
    id: 'janus.plugin.videoroom';
    Handle: new (...args: never[]) => VideoRoomHandle;
    EVENT: {
      VIDEOROOM_PUB_LIST: 'videoroom_publisher_list';
      VIDEOROOM_PUB_PEER_JOINED: 'videoroom_publisher_joined';
      VIDEOROOM_UNPUBLISHED: 'videoroom_unpublished';
      VIDEOROOM_LEAVING: 'videoroom_leaving';
      VIDEOROOM_KICKED: 'videoroom_kicked';
      VIDEOROOM_DESTROYED: 'videoroom_destroyed';
      VIDEOROOM_ERROR: 'videoroom_error';
    };
  };
  export default VideoRoomPlugin;
}

declare module 'janode/plugins/echotest' {
  import type { JanodeHandle } from 'janode';

  /** We send EchoTest requests with handle.message() so that only our fields go to Janus. */
  export type EchoTestHandle = JanodeHandle;

  const EchoTestPlugin: {
    id: 'janus.plugin.echotest';
    Handle: new (...args: never[]) => EchoTestHandle;
    EVENT: {
      ECHOTEST_RESULT: 'echotest_result';
      ECHOTEST_SLOWLINK: 'echotest_slowlink';
      ECHOTEST_ERROR: 'echotest_error';
    };
  };
  export default EchoTestPlugin;
}

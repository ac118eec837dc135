/** A non-browser client of the relay WebSocket, for refusal tests. */
/** Talk to a relay WebSocket as a non-browser client and collect one reply per message. */
export async function wsExchange(baseUrl: string, messages: object[], path = '/ws'): Promise<any[]> {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path);
  const replies: any[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => resolve());
  });
  for (const m of messages) {
    ws.send(JSON.stringify(m));
    const reply = await new Promise<any>((resolve) => {
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString());
        if (msg.t === 'reply' || msg.t === 'error') {
          ws.off('message', onMessage);
          resolve(msg);
        }
      };
      ws.on('message', onMessage);
    });
    replies.push(reply);
  }
  ws.close();
  return replies;
}


/// An inbound user event: bytes arrived from the client, sent by ``ClientByteTap`` just before it passes them to
/// the HTTP decoder, so ``ClientTimeoutHandler`` sees the first byte of a request head and every byte of a body
/// (the decoder only reports a head once it is complete).
struct ClientBytesArrived: Sendable {}

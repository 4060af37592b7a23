/**
 * The streams layer: the buffered {@linkcode StreamReader} and
 * {@linkcode StreamWriter}, over any byte source and sink.
 *
 * @example
 * ```ts
 * import { StreamReader } from "@aio/asyncio/streams";
 * import { assertEquals } from "@std/assert";
 *
 * const reader = new StreamReader();
 * reader.feedData(new TextEncoder().encode("hello\nworld"));
 * reader.feedEof();
 * assertEquals(await Array.fromAsync(reader.lines()), ["hello", "world"]);
 * ```
 *
 * @module
 */
export {
  type Reader,
  type ReadOptions,
  type Separator,
  StreamReader,
  type StreamReaderOptions,
  type StreamReaderSource,
} from "./stream_reader.ts";
export {
  type ExtraInfoName,
  type StartTlsOptions,
  StreamWriter,
  type StreamWriterOptions,
  type StreamWriterTarget,
  type WriteBufferLimits,
  type Writer,
  type WriterWaitOptions,
} from "./stream_writer.ts";

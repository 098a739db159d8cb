/*
 * AudioWorkletGlobalScope, which TypeScript's DOM lib does not describe
 * (https://webaudio.github.io/web-audio-api/#AudioWorkletGlobalScope). The scope's clock values
 * (sampleRate, currentFrame, currentTime) are declared in each worklet module instead, so that
 * main-thread code cannot use them by mistake.
 */
declare abstract class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: AudioWorkletNodeOptions);
  abstract process(
    inputs: Float32Array[][],
    outputs: Float32Array[][],
    parameters: Record<string, Float32Array>,
  ): boolean;
}

declare function registerProcessor(
  name: string,
  processorCtor: new (options: AudioWorkletNodeOptions) => AudioWorkletProcessor,
): void;

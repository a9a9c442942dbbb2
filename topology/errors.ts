/** A topology that cannot be deployed: thrown before any resource, file or process is created. */
export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

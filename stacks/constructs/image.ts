import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { Construct } from "constructs";
import { Image } from "@cdktf/provider-docker/lib/image/index.js";

export interface EtcdImageProps {
  /** Image name and tag, e.g. etcd-ts:local. */
  readonly name: string;
  /** Build from `<contextDir>/Dockerfile` (true) or use an image that is already there (false). */
  readonly build: boolean;
  readonly contextDir: string;
  /** BASE_IMAGE build argument: the image the runtime stage starts from (any image with `node` on PATH). */
  readonly baseImage: string;
}

/** What goes into the image, hashed so a change of the sources rebuilds it on the next deploy. */
const HASHED = ["Dockerfile", ".dockerignore", "package.json", "package-lock.json", "tsconfig.json", "bin", "server"];

export function sourceHash(contextDir: string): string {
  const h = createHash("sha256");
  const visit = (p: string) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) visit(join(p, e));
    } else if (st.isFile()) {
      h.update(relative(contextDir, p)).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  for (const e of HASHED) visit(join(contextDir, e));
  return h.digest("hex");
}

/** The etcd-ts image, built from the repo's Dockerfile (kept on destroy: other stacks share it). */
export class EtcdImage extends Construct {
  readonly image: Image;

  constructor(scope: Construct, id: string, props: EtcdImageProps) {
    super(scope, id);
    this.image = new Image(this, "image", {
      name: props.name,
      keepLocally: true,
      ...(props.build
        ? {
            buildAttribute: {
              context: props.contextDir,
              dockerfile: "Dockerfile",
              buildArgs: { BASE_IMAGE: props.baseImage },
              tag: [props.name],
              label: { "etcdkit.managed-by": "cdktf" },
            },
            triggers: { source_sha256: sourceHash(props.contextDir) },
          }
        : {}),
    });
  }

  /** The image reference containers use (creates the dependency on the build). */
  get ref(): string {
    return this.image.imageId;
  }
}

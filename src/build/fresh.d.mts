/** Whether dist/ is the build of the sources beside it (src/build/fresh.mjs). */
export function distFresh(root: URL): boolean;

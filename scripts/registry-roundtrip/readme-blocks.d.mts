/** The body of the fenced block named `which` ("example" or a roundtrip marker name) and its language. */
export function readmeBlock(markdown: string, which: string): { lang: string; code: string };

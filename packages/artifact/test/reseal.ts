/** The re-sealing helpers live with the fixture generator (one definition). */
export * from "../../../fixtures/_gen/internal/artifact-reseal.js";

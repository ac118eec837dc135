/**
 * The network test's grading: the server's own pure, import-free module, so the browser and
 * the server grade with the very same thresholds (documented there, with their sources).
 */
export { gradeNetwork } from '../../../control/src/domain/network-grade.js';

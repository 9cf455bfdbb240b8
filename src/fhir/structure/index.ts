export type { StructureCheck } from './structureCheck';
export { checkIsResourceOfType, createStructureCheck } from './structureCheck';
export { MAX_ISSUES } from './issues';
export { MAX_NESTING_DEPTH, MAX_VALUES_FOR_FULL_REPORT } from './jsonShape';

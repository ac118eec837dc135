/** Every migration, oldest first. Add new ones at the end; never edit one that has shipped. */
import { Initial1732300000000 } from './1732300000000-initial.js';

export const migrations = [Initial1732300000000];

/** Every migration, oldest first. Add new ones at the end; never edit one that has shipped. */
import { Initial1732300000000 } from './1732300000000-initial.js';
import { NotificationSent1795390554607 } from './1795390554607-notification-sent.js';
import { VisitDeviceTestCompanion1795400000000 } from './1795400000000-visit-device-test-companion.js';

export const migrations = [Initial1732300000000, NotificationSent1795390554607, VisitDeviceTestCompanion1795400000000];

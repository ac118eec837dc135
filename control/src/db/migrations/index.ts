/** Every migration, oldest first. Add new ones at the end; never edit one that has shipped. */
import { Initial1732300000000 } from './1732300000000-initial.js';
import { NotificationSent1795390554607 } from './1795390554607-notification-sent.js';
import { VisitDeviceTestCompanion1795400000000 } from './1795400000000-visit-device-test-companion.js';
import { CallbacksAndMessageSettings1795500000000 } from './1795500000000-callbacks-and-message-settings.js';
import { VisitNoShow1795520000000 } from './1795520000000-visit-no-show.js';
import { ConsultRecord1795530000000 } from './1795530000000-consult-record.js';
import { StaffSsoSessions1795510000000 } from './1795510000000-staff-sso-sessions.js';
import { ClinicianDelayMessage1795550000000 } from './1795550000000-clinician-delay-message.js';
import { ConsultRating1796400000000 } from './1796400000000-consult-rating.js';
import { ManagerRole1796400010000 } from './1796400010000-manager-role.js';
import { Reports1796400020000 } from './1796400020000-reports.js';
import { EhrWriteback1796500000000 } from './1796500000000-ehr-writeback.js';
import { ClinicWaitDisplay1796600000000 } from './1796600000000-clinic-wait-display.js';
import { ClinicPatientScreenShare1796700000000 } from './1796700000000-clinic-patient-screen-share.js';
import { TransferConsultParts1796900000000 } from './1796900000000-transfer-consult-parts.js';
import { WalkIn1797000000000 } from './1797000000000-walk-in.js';

export const migrations = [Initial1732300000000, NotificationSent1795390554607, VisitDeviceTestCompanion1795400000000, CallbacksAndMessageSettings1795500000000, StaffSsoSessions1795510000000, VisitNoShow1795520000000, ConsultRecord1795530000000, ClinicianDelayMessage1795550000000, ConsultRating1796400000000, ManagerRole1796400010000, Reports1796400020000, EhrWriteback1796500000000, ClinicWaitDisplay1796600000000, ClinicPatientScreenShare1796700000000, TransferConsultParts1796900000000, WalkIn1797000000000];

/** Registers the actor kinds, monitors and variants thpsim ships with. */
import { registerActorKind, registerMonitor, registerVariant } from './registry.ts';
import { taskKind } from './actors/task.ts';
import { hugeZeroShrinkerKind } from './actors/huge_zero_shrinker.ts';
import { shmemReclaimKind } from './actors/shmem_reclaim.ts';
import { khugepagedKind } from './actors/khugepaged.ts';
import { shmemRecoveryKind } from './actors/shmem_recovery.ts';
import { shmemShrinkerKind } from './actors/shmem_shrinker.ts';
import { pageRefcountMonitor } from './check/page_refcount.ts';
import { hugeZeroPageMonitor } from './check/huge_zero_page.ts';
import { frozenPageMonitor } from './check/frozen_page.ts';
import { locksMonitor } from './check/locks.ts';
import { dataIntegrityMonitor } from './check/data_integrity.ts';
import { accountingMonitor } from './check/accounting.ts';
import { truncationMonitor } from './check/truncation.ts';
import { livenessPmdMappedMonitor } from './check/liveness.ts';
import { teamMonitor } from './check/team.ts';
import { recoveryTerminatesMonitor } from './check/recovery_liveness.ts';
import { lockOrderMonitor } from './check/lock_order.ts';
import { sleepInAtomicMonitor } from './check/sleep_in_atomic.ts';
import { spinOnSleeperMonitor } from './check/spin_on_sleeper.ts';
import { shmemGetpageDisbandTruncated, shmemGetpageDisbandTruncatedRetry, shmemGetpageTeamEof, shmemRecoveryCheckUptodate, shmemRecoveryMigratePage } from './variants/team_recovery.ts';
import { freeCompoundPageWithOrder, setHugeZeroPagePmdNoneCheck } from './variants/huge_zero_page.ts';
import {
  collapseShmemClearHoles, collapseShmemCompoundCheck, collapseShmemNoFreezeNewPage, collapseShmemRollbackNrpages, collapseShmemStopIfTruncated, ptemappedRetryAsFlag, ptemappedRetryPerPmd,
  retractPageTablesTestExit,
} from './variants/collapse_shmem.ts';

registerActorKind(taskKind);
registerActorKind(hugeZeroShrinkerKind);
registerActorKind(shmemReclaimKind);
registerActorKind(khugepagedKind);
registerActorKind(shmemRecoveryKind);
registerActorKind(shmemShrinkerKind);
for (const m of [pageRefcountMonitor, hugeZeroPageMonitor, frozenPageMonitor, locksMonitor, dataIntegrityMonitor, accountingMonitor, truncationMonitor, livenessPmdMappedMonitor, teamMonitor, recoveryTerminatesMonitor,
  lockOrderMonitor, sleepInAtomicMonitor, spinOnSleeperMonitor]) {
  registerMonitor(m);
}
registerVariant(setHugeZeroPagePmdNoneCheck);
registerVariant(freeCompoundPageWithOrder);
registerVariant(collapseShmemClearHoles);
registerVariant(collapseShmemRollbackNrpages);
registerVariant(collapseShmemStopIfTruncated);
registerVariant(retractPageTablesTestExit);
registerVariant(ptemappedRetryAsFlag);
registerVariant(ptemappedRetryPerPmd);
registerVariant(collapseShmemCompoundCheck);
registerVariant(collapseShmemNoFreezeNewPage);
registerVariant(shmemRecoveryMigratePage);
registerVariant(shmemRecoveryCheckUptodate);
registerVariant(shmemGetpageTeamEof);
registerVariant(shmemGetpageDisbandTruncated);
registerVariant(shmemGetpageDisbandTruncatedRetry);

/** The example machines of the tests, one module for all of them. */

/** Storage, engine, dispatcher and RCP tests: one guarded transition and one that loops back. */
export const ORDER = {
  states: ['pending', 'paid', 'shipped', 'cancelled'],
  initial: 'pending',
  transitions: [
    { from: 'pending', event: 'PAY', to: 'paid', guard: 'ctx.amount > 0' },
    { from: ['pending', 'paid'], event: 'CANCEL', to: 'cancelled' },
    { from: 'paid', event: 'SHIP', to: 'shipped' },
    { from: ['pending', 'paid', 'shipped'], event: 'NOTE', to: 'pending' },
  ],
}

/** REST and WebSocket tests: a fulfilment order that can be cancelled until it is paid, and whose SHIP can be blocked. */
export const FULFILMENT_ORDER = {
  states: ['created', 'paid', 'shipped', 'delivered', 'cancelled'],
  initial: 'created',
  transitions: [
    { from: 'created', event: 'PAY', to: 'paid' },
    { from: 'paid', event: 'SHIP', to: 'shipped', guard: 'ctx.blocked != true' },
    { from: 'shipped', event: 'DELIVER', to: 'delivered' },
    { from: ['created', 'paid'], event: 'CANCEL', to: 'cancelled' },
  ],
}

/** The order of the README walkthrough (CLI tests send it as the README does). */
export const WALKTHROUGH_ORDER = {
  states: ['created', 'paid', 'shipped', 'delivered'],
  initial: 'created',
  transitions: [
    { from: 'created', event: 'PAY', to: 'paid' },
    { from: 'paid', event: 'SHIP', to: 'shipped' },
    { from: 'shipped', event: 'DELIVER', to: 'delivered' },
  ],
}

/**
 * GET_TRANSITIONS and dry-run tests: several guarded transitions for one event (tried in
 * definition order), a guard that can fail alone, transition meta, and two states with exits.
 */
export const REVIEW = {
  states: ['submitted', 'approved', 'escalated', 'rejected'],
  initial: 'submitted',
  transitions: [
    { from: 'submitted', event: 'REVIEW', to: 'approved', guard: 'ctx.score >= 80', meta: { ui: 'green' } },
    { from: 'submitted', event: 'REVIEW', to: 'escalated', guard: 'ctx.score >= 50' },
    { from: 'submitted', event: 'REVIEW', to: 'rejected' },
    { from: ['submitted', 'escalated'], event: 'WITHDRAW', to: 'rejected', guard: 'ctx.locked != true' },
    { from: 'escalated', event: 'REVIEW', to: 'approved', guard: 'ctx.manager == true' },
  ],
}

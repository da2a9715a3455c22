/** The order machine of the storage, dispatcher and RCP op tests: one guarded transition and one that loops. */
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

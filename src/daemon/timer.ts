import { systemClock, type Clock } from '../core/clock.js';

/** How the scheduler waits: the clock's own sleep (real time in the service, simulated time in tests). */
export type Timer = Pick<Clock, 'sleep'>;

export const realTimer: Timer = systemClock;

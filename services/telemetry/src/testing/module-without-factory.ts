/** A module that loads but exports no exporter factory (registry tests refuse it). */
export const notAFactory = 42;

/** A page loaded on first visit (the charts and uPlot stay out of the first load). */
import type { ComponentType } from 'preact';
import { useLayoutEffect, useState } from 'preact/hooks';
import { ApiFailure } from './api.js';
import { ErrorBox, Loading } from './components/feedback.js';

/**
 * `warm`: called when the page is about to show, while its code loads: it starts the page's data
 * requests (`prefetch`), so the code and the data travel at the same time instead of one after the other.
 */
export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>, warm?: () => void): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<ComponentType<P>> | null = null;
  const start = (): Promise<ComponentType<P>> => {
    loading ??= load().then(
      (c) => (loaded = c),
      (e: unknown) => {
        loading = null; // the next visit tries again
        throw e;
      },
    );
    return loading;
  };
  return function LazyPage(props: P) {
    const [Comp, setComp] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState<Error | null>(null);
    useLayoutEffect(() => {
      if (Comp) return;
      warm?.();
      start().then(
        (c) => setComp(() => c),
        (e: unknown) => setError(e as Error),
      );
    }, []);
    if (error)
      return (
        <ErrorBox error={new ApiFailure(0, 'NETWORK', `This page's code did not load (${error.message}). Reload the page.`)} retry={() => location.reload()} />
      );
    return Comp ? <Comp {...props} /> : <Loading what="Loading the page" />;
  };
}

/** A page loaded on first visit (the charts and uPlot stay out of the first load). */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure } from './api.js';
import { ErrorBox, Loading } from './components/feedback.js';

export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  return function LazyPage(props: P) {
    const [Comp, setComp] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState<Error | null>(null);
    useEffect(() => {
      if (Comp) return;
      load().then(
        (c) => {
          loaded = c;
          setComp(() => c);
        },
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

/**
 * Listeners of one kind of news (a payload delivered, the cards of a room
 * changed, what a companion did): `add` gives back the remove, `tell` tells
 * every listener in the order they came. An `EventTarget` underneath, as
 * the platform's and libp2p's own events are; a listener that throws does
 * not keep the others from being told (its error is reported).
 */
export class Listeners<T> {
  #target = new EventTarget()

  /** Tells `listener` from now on; returns the remove. */
  add (listener: (news: T) => void): () => void {
    const handler = (event: Event): void => {
      try {
        listener((event as CustomEvent<T>).detail)
      } catch (err) {
        console.error('a listener failed:', err)
      }
    }
    this.#target.addEventListener('news', handler)
    return () => { this.#target.removeEventListener('news', handler) }
  }

  tell (news: T): void {
    this.#target.dispatchEvent(new CustomEvent('news', { detail: news }))
  }

  /** Forgets every listener (the piece that tells them stopped). */
  clear (): void {
    this.#target = new EventTarget()
  }
}

import { create } from 'zustand';

/** An image the user has open in the sidebar. Filled by the image features as they arrive. */
export interface OpenImage {
  path: string;
  name: string;
  sizeBytes: number;
}

export interface ImagesState {
  images: OpenImage[];
  selectedPath: string | null;
}

export const initialImagesState: ImagesState = { images: [], selectedPath: null };

export const useImagesStore = create<ImagesState>()(() => initialImagesState);

export function resetImagesStore(): void {
  useImagesStore.setState(initialImagesState, true);
}

export function selectImage(path: string): void {
  useImagesStore.setState({ selectedPath: path });
}

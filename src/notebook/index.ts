/** Display helpers for tslab notebooks: offline plotly, slices with label overlays, tables. */
export { escapeHtml, htmlDisplay, setHtmlSink, showHtml, type HtmlSink } from "./display.js";
export { notebookMode, type NotebookMode } from "./mode.js";
export {
  figureHtml, plotlyBundle, plotlyHtml, plotlyLibraryHtml, PlotlyEmbedder, resetPlotlyEmbedding, showPlotly,
  type PlotlyFigure,
} from "./plotly.js";
export { axialSlice, sliceAxisCodes } from "./slice.js";
export { discreteColourscale, LABEL_COLOURS, labelColour, showSlice, sliceFigure, type SliceFigureOptions } from "./overlay.js";
export { showTable, tableHtml, type TableLike, type TableOptions } from "./table.js";
export * from "./cardiac.js";

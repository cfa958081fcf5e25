// placeholder: replaced by the layer's implementation
namespace keel {}
